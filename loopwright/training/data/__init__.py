"""The training plane's data engineering: `loopwright data prepare RECIPE` (see `prepare`); recipes live in
`loopwright.training.recipes`."""
