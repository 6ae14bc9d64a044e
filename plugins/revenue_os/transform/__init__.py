"""The mart build: SQL models in dependency order, audited, published atomically."""
