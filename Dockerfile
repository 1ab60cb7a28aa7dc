# syntax=docker/dockerfile:1
# The layer-operator image: layer-syncer (the entrypoint, run by the chart) and layer-render
# (for CI jobs that prefer a container to `cargo install`), on a small non-root runtime.
#
#   docker build -t ghcr.io/hev/layer-operator:0.1.0 .
#   docker run --rm -v "$PWD:/work" -w /work --entrypoint layer-render \
#     ghcr.io/hev/layer-operator:0.1.0 manifests/
#
# The argocd-cmp target is the Argo CD plugin sidecar of integrations/argocd/: layer-render with
# the shell, grep and head that the plugin's commands use.
#
#   docker build --target argocd-cmp -t ghcr.io/hev/layer-operator-cmp:0.1.0 .

# Bookworm, like the Debian 12 runtimes below: binaries linked against a newer glibc would not
# start on them.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# --locked: build exactly Cargo.lock. Both binaries link glibc and libgcc dynamically (TLS is
# rustls, so no OpenSSL), which distroless/cc provides.
RUN cargo build --release --locked -p layer-render -p layer-syncer \
 && install -D -m 0755 target/release/layer-syncer /out/layer-syncer \
 && install -D -m 0755 target/release/layer-render /out/layer-render

FROM debian:bookworm-slim AS argocd-cmp
COPY --from=build /out/layer-render /usr/local/bin/layer-render
# Argo CD runs plugin sidecars as its own user, 999; argocd-cmp-server comes from Argo CD.
USER 999:999

# The default target (last): what the chart runs.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
# 65532 is distroless's nonroot user; the chart's securityContext runs as the same ids.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/layer-syncer"]
