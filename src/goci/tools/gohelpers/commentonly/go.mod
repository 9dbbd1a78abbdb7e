module goci.local/commentonly

go 1.21
