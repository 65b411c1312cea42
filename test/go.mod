module github.com/possession-dev/possession/test

go 1.26.0

require github.com/possession-dev/possession v0.0.0-00010101000000-000000000000

replace github.com/possession-dev/possession => ../
