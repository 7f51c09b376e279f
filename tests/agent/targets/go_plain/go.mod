module wfhost.test/goplain

go 1.21
