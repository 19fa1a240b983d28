package registry

// Keeping a parsed registry small: values collected without regrowth,
// repeated strings shared.

// chunked collects parsed values (records, contacts) in fixed-size
// chunks, so that growing never copies what was read (append's 1.25x
// growth allocates about five times the final slice), then hands out one
// exact-size slice.
type chunked[T any] struct {
	chunks [][]T
	n      int
}

const chunkLen = 1024

func (c *chunked[T]) add(v *T) {
	k := len(c.chunks) - 1
	if k < 0 || len(c.chunks[k]) == chunkLen {
		c.chunks = append(c.chunks, make([]T, 0, chunkLen))
		k++
	}
	c.chunks[k] = append(c.chunks[k], *v)
	c.n++
}

func (c *chunked[T]) slice() []T {
	if c.n == 0 {
		return nil
	}
	out := make([]T, 0, c.n)
	for _, ch := range c.chunks {
		out = append(out, ch...)
	}
	return out
}

// interner shares equal strings (descriptions, dates, person IDs and the
// like repeat across the tcp/udp rows of one registration), which keeps a
// parsed registry small. Lookups with string(b) do not allocate.
type interner map[string]string

func (in interner) bytes(b []byte) string {
	if s, ok := in[string(b)]; ok {
		return s
	}
	s := string(b)
	in[s] = s
	return s
}

func (in interner) str(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	in[s] = s
	return s
}
