# Convenience wrappers; the README's two commands are the source of truth.
.PHONY: demo test bench
demo:
	python3 -m venv .venv && .venv/bin/python -m pip install -q -e . && .venv/bin/nmfkit demo --out nmfkit-demo --force
test:
	python3 -m venv .venv && .venv/bin/python -m pip install -q -e ".[test]" torch==2.13.0 && .venv/bin/python -m pytest
bench:
	.venv/bin/python benchmarks/bench_core.py
