"""The marketplace's pure core: standard library only (and `app.canonical`), no database, no web."""
