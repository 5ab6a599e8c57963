// Ask before a write that changes what users are served. Plain script: the forms work without it.
document.querySelectorAll("form.write[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
});
