// Package fetch downloads a registry file over HTTP(S) into a cache
// directory: conditionally (If-None-Match / If-Modified-Since from the
// previous download, so an unchanged registry costs a 304), bounded in
// size, checked before use, and written atomically (temporary file,
// fsync, rename), so readers never see a partial file and a failed
// download leaves the previous copy in place.
package fetch
