module wfhost.test/gopprof

go 1.21
