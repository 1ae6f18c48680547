# syntax=docker/dockerfile:1.7
#
# One image for every Keyward service: `keyward api-gateway`, `keyward vault`, … `keyward up`,
# `keyward migrate`. Build:  docker build -t keyward:dev .
#
# TLS is rustls with aws-lc-rs everywhere (Postgres, RabbitMQ, gRPC, provider calls), so neither
# stage needs OpenSSL. The runtime image holds the binary, CA certificates and nothing else of
# ours; it runs as uid 10001 and works with a read-only root filesystem (the only place it writes
# is the spool, /var/lib/keyward/spool, which should be a volume).

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

# --- build ---------------------------------------------------------------------------------------
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
WORKDIR /src
# Queries are checked at run time (docs/decisions/0003-runtime-checked-sql.md) and generated gRPC
# code is committed, so the build needs neither a database nor protoc.
ENV CARGO_TERM_COLOR=never \
    CARGO_NET_RETRY=5 \
    CARGO_INCREMENTAL=0
COPY . .
# The registry, git checkouts and target dir live in BuildKit cache mounts that survive between
# builds; the binary is copied out of the target cache in the same step.
RUN --mount=type=cache,id=keyward-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=keyward-cargo-git,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,id=keyward-target,target=/src/target,sharing=locked \
    cargo build --release --locked -p keyward \
 && install -D -m 0755 target/release/keyward /out/keyward

# --- runtime -------------------------------------------------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
ARG VERSION=dev
LABEL org.opencontainers.image.title="keyward" \
      org.opencontainers.image.description="Keyward: holds LLM provider keys and proxies, meters and governs LLM calls" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"

# ca-certificates: the provider APIs' and managed Postgres/RabbitMQ servers' roots (rustls reads
# the system store through rustls-native-certs). Unpinned on purpose: Debian's security updates
# of the CA bundle should land with every rebuild.
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# A fixed, numeric, unprivileged user, so Kubernetes' runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 keyward \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/keyward --no-create-home \
            --shell /usr/sbin/nologin keyward \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/keyward /var/lib/keyward/spool \
 && install -d -o root -g 10001 -m 0750 /etc/keyward

COPY --from=builder /out/keyward /usr/local/bin/keyward

# Publishers keep messages here while RabbitMQ is unreachable (set broker.spool_dir to it).
VOLUME ["/var/lib/keyward/spool"]
WORKDIR /var/lib/keyward
USER 10001:10001

# api-gateway; then each service's ops (/livez, /readyz, /metrics) and gRPC ports.
EXPOSE 8080 9101 9102 9103 9104 9105 50051 50052 50053 50054 50055

# Pass a service name, `up` or `migrate`, e.g.:
#   docker run --rm -v $PWD/keyward.toml:/etc/keyward/keyward.toml:ro keyward:dev \
#     vault --config /etc/keyward/keyward.toml
ENTRYPOINT ["keyward"]
CMD ["--help"]
