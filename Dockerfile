# One image with the four services (ingestor, alerter, moog-forwarder, webui) and the
# load tool. Build: docker build -t mutt-rs:0.1.0 .
# The chart (helm/mutt) picks the binary per Deployment; the image runs as a non-root user
# with nothing writable but /tmp.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# The migrations (sql/) are embedded at build time; nothing else is read at run time.
COPY . .
RUN cargo build --release --locked --bins \
 && mkdir /out \
 && cp target/release/ingestor target/release/alerter target/release/moog-forwarder \
       target/release/webui target/release/mutt-load /out/

# glibc, CA roots, no shell, no package manager.
FROM gcr.io/distroless/cc-debian12
COPY --from=build /out/ /usr/local/bin/
USER 10001:10001
# ingestor HTTP and syslog, alerter, forwarder, web UI.
EXPOSE 8080 5514/udp 5514/tcp 8081 8082 8083 8084 8090
ENTRYPOINT []
CMD ["/usr/local/bin/webui", "--help"]
