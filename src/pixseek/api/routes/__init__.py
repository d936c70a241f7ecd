"""One router per resource: system (/, /health, /classes), ingest, search, images."""
