# rackboot in a container. DHCP needs the host's network and raw broadcast,
# so run it with --network host and the capabilities NET_ADMIN and
# NET_BIND_SERVICE (or as root), for example:
#
#   docker run --network host --cap-add NET_ADMIN --cap-add NET_RAW \
#     -v /etc/rackboot:/etc/rackboot:ro -v /var/lib/rackboot:/var/lib/rackboot \
#     rackboot serve --interface eth1
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
    -o /out/rackboot ./cmd/rackboot

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ipxe ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/rackboot /usr/local/bin/rackboot
VOLUME ["/var/lib/rackboot"]
EXPOSE 67/udp 69/udp 4011/udp 8080/tcp
ENTRYPOINT ["/usr/local/bin/rackboot"]
CMD ["serve", "--config", "/etc/rackboot/rackboot.yaml"]
