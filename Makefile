# The two commands a newcomer needs are `make demo` and `make test` (see README.md).
.PHONY: demo test lint bench bench-warehouse mutate install

demo:
	@scripts/bootstrap.sh
	@.venv/bin/oie demo

test:
	@scripts/test.sh

lint:
	@scripts/bootstrap.sh
	@scripts/lint.sh

install:
	@scripts/bootstrap.sh pixel chromium firefox webkit bqemulator

bench:
	@scripts/bootstrap.sh pixel chromium wrk
	@cd pixel && npm run --silent build
	@.venv/bin/python -m bench.run all

bench-warehouse:
	@scripts/bootstrap.sh
	@.venv/bin/python -m bench.warehouse

# Mutation score of the modules where a silent bug costs most (tens of minutes; not CI's).
mutate:
	@scripts/bootstrap.sh mutmut
	@.venv/bin/python -m bench.mutate
