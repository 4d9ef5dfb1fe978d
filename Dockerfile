# newsd container image. Build from the repository root:
#   docker build -t newsd .
#   docker run --read-only --tmpfs /tmp -v $PWD/deploy/newsd.yaml:/etc/newsd/newsd.yaml:ro newsd
# Two stages on Debian 12, both installing packages with scripts/deps.sh (the script the Makefile
# runs): the build stage has compilers and headers and runs scripts/build-release.sh, the one
# Release build CI also runs (ctest's release.build); the runtime stage has only the shared libraries.

FROM debian:12 AS build
COPY scripts/deps.sh /src/scripts/deps.sh
RUN /src/scripts/deps.sh build && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN /src/scripts/build-release.sh /out /build

FROM debian:12-slim AS runtime
COPY scripts/deps.sh /tmp/deps.sh
# uid and gid 10001, as USER below, docs/OPERATIONS.md and deploy/ say
RUN /tmp/deps.sh runtime && apt-get clean && rm -rf /var/lib/apt/lists/* /tmp/deps.sh \
    && groupadd --gid 10001 newsd \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
               --shell /usr/sbin/nologin newsd
# /usr/bin/newsd, /usr/share/newsd/{models,desks.yaml,demo/feeds}
COPY --from=build /out/ /
COPY deploy/newsd.yaml /etc/newsd/newsd.yaml
# Runs as a non-root user and writes nothing to disk: logs are JSON lines on stderr, state lives in
# Kafka, so the root filesystem can be mounted read-only.
USER 10001:10001
WORKDIR /
EXPOSE 8080
# Healthy means ready: `newsd healthcheck` probes /readyz (Kafka reachable, feed state restored), so
# Compose's `depends_on: condition: service_healthy` waits until newsd publishes. The slim image has
# no curl; newsd probes itself (port and address from the config). `--live` would probe /healthz.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["newsd", "healthcheck", "-c", "/etc/newsd/newsd.yaml"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["newsd", "run", "-c", "/etc/newsd/newsd.yaml"]
