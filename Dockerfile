# svcreg container image: a static binary with the IANA registry embedded,
# on a distroless, non-root runtime.
#
#   docker build -t svcreg .
#   docker run -p 5300:5300/udp -p 5300:5300/tcp -p 8053:8053 svcreg
#   dig @127.0.0.1 -p 5300 _ipp._tcp.services.internal SRV
#
# Build arguments: GO_VERSION, REGISTRY_URL (where the build stage
# downloads the registry from).

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG REGISTRY_URL=https://www.iana.org/assignments/service-names-port-numbers/service-names-port-numbers.xml
# A plain build first, whose `svcreg fetch` downloads the registry and
# checks that it parses; then the release build embeds it (-tags
# ianaembed, internal/embedded/registry.xml).
RUN go build -o /tmp/svcreg-bootstrap ./cmd/svcreg \
 && /tmp/svcreg-bootstrap fetch --url "${REGISTRY_URL}" --out internal/embedded/registry.xml \
 && go build -tags ianaembed -ldflags="-s -w" -o /out/svcreg ./cmd/svcreg \
 && /out/svcreg config check --bare >/dev/null

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/svcreg /usr/local/bin/svcreg
# Listen on every interface inside the container; flags and a config file
# (SVCREG_CONFIG or --config) still override these.
ENV SVCREG_DNS_LISTEN=0.0.0.0:5300 \
    SVCREG_HTTP_LISTEN=0.0.0.0:8053 \
    SVCREG_LOG_FORMAT=json \
    XDG_CACHE_HOME=/home/nonroot/.cache
USER nonroot:nonroot
EXPOSE 5300/udp 5300/tcp 8053
# No shell in the image: the binary probes itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/svcreg", "healthcheck", "--quiet", "--url", "http://127.0.0.1:8053/healthz"]
ENTRYPOINT ["/usr/local/bin/svcreg"]
CMD ["serve"]
