# newsd container image. Build from the repository root:
#   docker build -t newsd .
#   docker run --read-only --tmpfs /tmp -v $PWD/deploy/newsd.yaml:/etc/newsd/newsd.yaml:ro newsd
# Two stages on Debian 12, both installing packages with scripts/deps.sh (the script `make deps` runs):
# the build stage has compilers and headers, the runtime stage only the shared libraries.

FROM debian:12 AS build
COPY scripts/deps.sh /src/scripts/deps.sh
RUN /src/scripts/deps.sh build && rm -rf /var/lib/apt/lists/*
COPY . /src
# Tests need the test packages (cmocka, Kafka, ...); the image needs none of them.
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DNEWSD_TESTS=OFF \
    && cmake --build /build -j "$(nproc)" \
    && DESTDIR=/out cmake --install /build --prefix /usr --strip

FROM debian:12-slim AS runtime
COPY scripts/deps.sh /tmp/deps.sh
RUN /tmp/deps.sh runtime && rm -rf /var/lib/apt/lists/* /tmp/deps.sh \
    && useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
               --shell /usr/sbin/nologin newsd
# /usr/bin/newsd, /usr/share/newsd/{models,demo/feeds}
COPY --from=build /out/ /
COPY deploy/newsd.yaml /etc/newsd/newsd.yaml
# Runs as a non-root user and writes nothing to disk: logs are JSON lines on stderr, state lives in
# Kafka, so the root filesystem can be mounted read-only.
USER 10001:10001
WORKDIR /
EXPOSE 8080
# The slim image has no curl: newsd probes its own /healthz (port and address from the config).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["newsd", "healthcheck", "-c", "/etc/newsd/newsd.yaml"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["newsd", "run", "-c", "/etc/newsd/newsd.yaml"]
