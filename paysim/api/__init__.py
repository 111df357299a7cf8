"""HTTP apps (FastAPI) of the services; OpenAPI at /docs and /openapi.json."""
