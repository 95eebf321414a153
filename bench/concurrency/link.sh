#!/bin/sh
# Recreate internal/<pkg>/*.go as relative symlinks to the template's non-test
# sources, so the benchmarks compile exactly the code every generated service
# gets. Run it (or `go generate .`) after adding or removing a file in those
# template packages; TestSourcesAreTheTemplates fails until you do.
set -eu
cd "$(dirname "$0")"
for pkg in workerpool httpclient; do
	mkdir -p "internal/$pkg"
	rm -f "internal/$pkg"/*.go
	for src in "../../template/internal/$pkg"/*.go; do
		case "$src" in *_test.go) continue ;; esac
		ln -s "../../../../template/internal/$pkg/$(basename "$src")" "internal/$pkg/"
	done
done
