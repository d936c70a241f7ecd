"""The `pixseek` command line."""
