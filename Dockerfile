# netflow-concentrator image: the daemon and its plugins on Debian, reading
# /app/configuration.ini as Sekoia.io's deployment guide describes.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential autoconf automake libtool pkg-config libssl-dev libconfig-dev libcunit1-dev libpcap-dev \
      libcurl4-openssl-dev zlib1g-dev libzstd-dev \
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
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libssl3 libconfig9 libpcap0.8 libcurl4 zlib1g libzstd1 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/netflow-concentrator --shell /usr/sbin/nologin netflow \
 && mkdir -p /app /var/lib/netflow-concentrator \
 && chown netflow /var/lib/netflow-concentrator
COPY --from=build /out/ /
USER netflow
WORKDIR /app
ENV NETFLOW_COLLECTOR_DEBUG=false
EXPOSE 2055/udp
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/netflow-concentrator", "-c", "/app/configuration.ini"]
