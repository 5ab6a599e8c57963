"""The exception tree. Every error the library raises is a `LoopwrightError`.

    LoopwrightError            message + hint; the CLI prints it as one line
     ├── WorkspaceError        no workspace, or an unreadable one
     ├── ConfigError           a config file that does not parse or validate
     ├── StoreUnavailable      the database does not answer
     ├── NotFound              an unknown reference (artifact, receipt, slot...)
     │    └── UnknownRef
     ├── InvalidInput          input that is malformed or out of bounds
     ├── ConflictError         the request contradicts stored state
     ├── Overloaded            too much work in flight: retry shortly (HTTP 429)
     └── IntegrityError        stored bytes or records fail verification
          └── AuditError       the receipt chain is broken
"""

from __future__ import annotations


class LoopwrightError(Exception):
    """Base of every error loopwright raises on purpose."""

    exit_code = 1
    code: str | None = None  # an OpenAI-style error code for HTTP answers, where a subclass has a more exact one

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message and hint on a single line, as the CLI prints it."""
        text = " ".join(self.message.split())
        if self.hint:
            text += f" (hint: {' '.join(self.hint.split())})"
        return text


class WorkspaceError(LoopwrightError):
    """No workspace was found, or it is incomplete."""


class ConfigError(LoopwrightError):
    """A configuration file is unreadable or invalid."""


class StoreUnavailable(LoopwrightError):
    """The database cannot be reached or opened."""


class NotFound(LoopwrightError):
    """Something named by the caller does not exist."""


class UnknownRef(NotFound):
    """An artifact reference matches nothing (or more than one thing)."""


class InvalidInput(LoopwrightError):
    """Input is malformed or outside what is accepted."""


class ConflictError(LoopwrightError):
    """The request contradicts the stored state."""


class Overloaded(LoopwrightError):
    """Too many requests in flight; the client should retry shortly."""


class IntegrityError(LoopwrightError):
    """Stored bytes or records do not match their digest or signature."""


class AuditError(IntegrityError):
    """The receipt chain is broken: a receipt was altered, removed or forged."""
