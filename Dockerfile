# netflow-concentrator image: the daemon and its plugins on Debian, reading
# /app/configuration.ini as Sekoia.io's deployment guide describes.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential autoconf automake libtool pkg-config libssl-dev libconfig-dev libcunit1-dev libpcap-dev \
      libcurl4-openssl-dev zlib1g-dev libzstd-dev liblz4-dev libmicrohttpd-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN ./autogen.sh \
 && ./configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var --without-systemdsystemunitdir \
 && make -j"$(nproc)" \
 && make install DESTDIR=/out \
 && rm -rf /out/usr/include /out/usr/lib/pkgconfig /out/usr/share/aclocal /out/usr/lib/netflow-concentrator/*.la

FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libssl3 libconfig9 libpcap0.8 libcurl4 zlib1g libzstd1 liblz4-1 libmicrohttpd12 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/netflow-concentrator --shell /usr/sbin/nologin netflow \
 && mkdir -p /app /var/lib/netflow-concentrator \
 && chown netflow /var/lib/netflow-concentrator
COPY --from=build /out/ /
LABEL org.opencontainers.image.title="netflow-concentrator" \
      org.opencontainers.image.description="NetFlow v5/v9 and IPFIX concentrator forwarding every flow record to the Sekoia.io intake" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="0.1.0"
USER netflow
WORKDIR /app
ENV NETFLOW_COLLECTOR_DEBUG=false
EXPOSE 2055/udp
# Templates and the disk spool: kept across restarts and re-creations of
# the container (docker-compose.yml names the volume).
VOLUME ["/var/lib/netflow-concentrator"]
# The daemon's own health (netflow-concentrator --health): running, an input
# receiving, no output failing to deliver for more than [core]
# health_fail_after (300 s), from the file it rewrites every second.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
  CMD ["/usr/bin/netflow-concentrator", "-c", "/app/configuration.ini", "--health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/netflow-concentrator", "-c", "/app/configuration.ini"]
