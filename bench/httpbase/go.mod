module goperf-scaffold/bench/httpbase

go 1.24.0
