"""Web application wiring: settings, database, auth, i18n, audit chain, jobs."""
