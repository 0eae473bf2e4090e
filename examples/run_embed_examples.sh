#!/usr/bin/env bash
# Runs embed_primary and embed_secondary as two processes over gRPC with
# mutual TLS on loopback, the way two hosts would: throwaway certificates
# (openssl), the primary listening on a free port and writing the
# invitation, the secondary accepting it and dialing. Run twice over the
# same state folders: the second run reopens the connection and its
# accounts arrive on top of the first run's.
#
# Usage: run_embed_examples.sh BIN_DIR WORK_DIR [ACCOUNTS]
set -euo pipefail

bin_dir="$1"
work="$2"
accounts="${3:-100}"
rm -rf "${work}"
mkdir -p "${work}/tls"
tls="${work}/tls"

# A CA, the listener's certificate (localhost, 127.0.0.1), the dialer's.
make_certificates() {
  local key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
  openssl req -x509 ${key} -nodes -days 2 -subj /CN=embed-example-ca \
    -keyout "${tls}/ca.key" -out "${tls}/ca.pem"
  local side
  for side in server client; do
    local name=localhost usage=serverAuth
    if [[ "${side}" == client ]]; then
      name=embed-example-client
      usage=clientAuth
    fi
    openssl req ${key} -nodes -subj "/CN=${name}" \
      -keyout "${tls}/${side}.key" -out "${tls}/${side}.csr"
    printf 'subjectAltName=DNS:%s,IP:127.0.0.1\nextendedKeyUsage=%s\n' \
      "${name}" "${usage}" > "${tls}/${side}.ext"
    openssl x509 -req -days 2 -in "${tls}/${side}.csr" -CA "${tls}/ca.pem" \
      -CAkey "${tls}/ca.key" -CAcreateserial -out "${tls}/${side}.pem" \
      -extfile "${tls}/${side}.ext"
  done
}
make_certificates >/dev/null 2>&1

run_once() {
  local run="$1"
  local port_file="${work}/port"
  rm -f "${port_file}"
  echo "== run ${run}"
  "${bin_dir}/embed_primary" --state "${work}/primary" \
    --invitation-file "${work}/invitation" --tls-dir "${tls}" \
    --port-file "${port_file}" --accounts "${accounts}" &
  local primary=$!
  local waited=0
  until [[ -s "${port_file}" ]]; do
    if ! kill -0 "${primary}" 2>/dev/null || ((waited > 300)); then
      echo "embed_primary never listened" >&2
      wait "${primary}" || true
      return 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  local secondary_status=0 primary_status=0
  "${bin_dir}/embed_secondary" --state "${work}/secondary" \
    --invitation-file "${work}/invitation" --tls-dir "${tls}" \
    --primary "127.0.0.1:$(cat "${port_file}")" \
    --accounts "$((accounts * run))" || secondary_status=$?
  wait "${primary}" || primary_status=$?
  if ((primary_status != 0 || secondary_status != 0)); then
    echo "run ${run}: embed_primary exited ${primary_status}," \
         "embed_secondary ${secondary_status}" >&2
    return 1
  fi
}

run_once 1
run_once 2
echo "both runs synced ${accounts} accounts each over gRPC with mutual TLS"
