"""Turning image files into stored records: decode, EXIF, the ingest pipeline, folder walking."""
