# rackboot's container image: the static binary on Debian 12 with the iPXE
# boot loaders, running as the unprivileged user rackboot (65532).
#
#   docker build --build-arg VERSION=v0.1.0 -t rackboot:v0.1.0 .
#   docker run -d --name rackboot --network host \
#     --cap-drop ALL --cap-add NET_BIND_SERVICE \
#     -v /etc/rackboot:/etc/rackboot:ro -v /var/lib/rackboot:/var/lib/rackboot \
#     rackboot:v0.1.0
#
# DHCP clients have no address yet and broadcast, so rackboot must sit on
# the provisioning network itself: --network host (or hostNetwork in
# Kubernetes). docs/deploy.md explains this and the capabilities below.
# Needs BuildKit (the default builder since Docker 23; podman and buildah
# too) for RUN --mount.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
    -o /out/rackboot ./cmd/rackboot

FROM debian:12-slim
# ipxe: the boot loaders in /usr/lib/ipxe (--ipxe-dir). ipmitool: power
# and boot control of IPMI BMCs (docs/bmc.md). ca-certificates: TLS to
# Redfish BMCs, the Kubernetes API server and "rackboot assets fetch".
# libcap2-bin: setcap, below; it leaves again in the same step. No file
# keeps a setuid or setgid bit: nothing in the image can gain privilege
# that way, even where no_new_privs is off (see below).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates ipmitool ipxe libcap2-bin \
 && rm -rf /var/lib/apt/lists/* \
 && find / -xdev -type f -perm /6000 -exec chmod ug-s {} + \
 && groupadd --system --gid 65532 rackboot \
 && useradd --system --uid 65532 --gid 65532 --home-dir /var/lib/rackboot \
      --no-create-home --shell /usr/sbin/nologin rackboot \
 && install -d -o 65532 -g 65532 -m 0750 /var/lib/rackboot /var/lib/rackboot/assets \
 && install -d -m 0755 /etc/rackboot

# File capabilities let user 65532 bind what needs privilege:
#   cap_net_bind_service  DHCP (UDP 67) and TFTP (UDP 69), ports below 1024.
# Nothing else: DHCP replies are ordinary UDP broadcasts (SO_BROADCAST needs
# no capability), rackboot opens no raw or packet socket and changes no
# network configuration, so it needs neither CAP_NET_RAW nor CAP_NET_ADMIN.
# Binding to one interface (SO_BINDTODEVICE) needs CAP_NET_RAW only on
# kernels before 5.7: there, build with
#   --build-arg CAPS=cap_net_bind_service,cap_net_raw=ep
# and run with --cap-add NET_RAW. Every capability named here must be in
# the container's bounding set (--cap-add), or the binary fails to start
# with "operation not permitted". Under no_new_privs (docker --security-opt
# no-new-privileges, Kubernetes allowPrivilegeEscalation: false) the kernel
# grants them only if the runtime already put them in the permitted set,
# which Docker does not do for a non-root user: DHCP and TFTP then cannot
# bind. cmd/rackboot/deploy_test.go tries each of these cases.
# The bind mount installs and marks the binary in one layer: a COPY and a
# later setcap would store the whole binary twice.
ARG CAPS=cap_net_bind_service=ep
RUN --mount=type=bind,from=build,source=/out/rackboot,target=/tmp/rackboot \
    install -m 0755 /tmp/rackboot /usr/local/bin/rackboot \
 && setcap "${CAPS}" /usr/local/bin/rackboot \
 && setcap -v "${CAPS}" /usr/local/bin/rackboot \
 && apt-get purge -y libcap2-bin

USER 65532:65532
VOLUME ["/var/lib/rackboot"]
# DHCP, PXE boot server (proxy mode), TFTP; boot HTTP (--http-addr) and the
# HTTPS admin listener (--admin-addr). With --network host these only
# document the ports: rackboot binds the host's.
EXPOSE 67/udp 4011/udp 69/udp 8080/tcp 8443/tcp
# No HEALTHCHECK: the image has no HTTP client, and the health endpoints
# /healthz and /readyz are on the HTTPS admin listener, whose certificate
# is self-signed by default. Probe them from outside: Kubernetes' HTTPS
# probes (deploy/kubernetes) or curl -k https://HOST:8443/healthz.
ENTRYPOINT ["/usr/local/bin/rackboot"]
CMD ["serve", "--config", "/etc/rackboot/rackboot.yaml"]
