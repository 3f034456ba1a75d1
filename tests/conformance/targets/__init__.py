"""tests/conformance/targets - one module per conformance target (see lifecycles.py)."""
