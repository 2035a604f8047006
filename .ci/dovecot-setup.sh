#!/usr/bin/env bash
# A real IMAP server for the inbox tests: Debian's Dovecot on 127.0.0.1 with implicit TLS
# (IMAPS), a certificate made here with openssl, one test user in a passwd-file and the mail
# in a Maildir under /tmp. Idempotent: a running instance is left as it is.
#
#   .ci/dovecot-setup.sh          install (if needed), configure, start
#   .ci/dovecot-setup.sh stop     stop the instance
#
# The tests read PEMANTIK_TEST_IMAP_{PORT,USER,PASSWORD,CA} (defaults below) and skip the IMAP
# cases when the server is not running, unless PEMANTIK_REQUIRE_IMAP=1.
set -euo pipefail

BASE="${PEMANTIK_TEST_IMAP_DIR:-/tmp/pemantik-dovecot}"
PORT="${PEMANTIK_TEST_IMAP_PORT:-10993}"
USER_NAME="${PEMANTIK_TEST_IMAP_USER:-pemantik}"
PASSWORD="${PEMANTIK_TEST_IMAP_PASSWORD:-rahasia-uji}"
CONF="$BASE/dovecot.conf"

if [ "${1:-}" = "stop" ]; then
  [ -f "$CONF" ] && dovecot -c "$CONF" stop 2>/dev/null || true
  exit 0
fi

if ! command -v dovecot >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null
fi

if [ -f "$BASE/run/master.pid" ] && kill -0 "$(cat "$BASE/run/master.pid")" 2>/dev/null; then
  echo "dovecot sudah berjalan di 127.0.0.1:$PORT ($BASE)"
  exit 0
fi

mkdir -p "$BASE/run" "$BASE/state" "$BASE/mail"
# Mail is owned by an unprivileged user: Dovecot refuses mail access as root.
MAIL_USER="nobody"
MAIL_UID="$(id -u "$MAIL_USER")"
MAIL_GID="$(id -g "$MAIL_USER")"
chown "$MAIL_UID:$MAIL_GID" "$BASE/mail"

if [ ! -f "$BASE/cert.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$BASE/key.pem" -out "$BASE/cert.pem" >/dev/null 2>&1
  chmod 600 "$BASE/key.pem"
fi

printf '%s:{PLAIN}%s\n' "$USER_NAME" "$PASSWORD" > "$BASE/users"
chgrp dovecot "$BASE/users" 2>/dev/null && chmod 640 "$BASE/users" || chmod 644 "$BASE/users"

cat > "$CONF" <<CONFEOF
protocols = imap
listen = 127.0.0.1
base_dir = $BASE/run
state_dir = $BASE/state
log_path = $BASE/dovecot.log
info_log_path = $BASE/dovecot.log
ssl = required
ssl_cert = <$BASE/cert.pem
ssl_key = <$BASE/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $BASE/users
}
userdb {
  driver = static
  args = uid=$MAIL_UID gid=$MAIL_GID home=$BASE/mail/%u
}
mail_location = maildir:$BASE/mail/%u/Maildir
namespace inbox {
  inbox = yes
  separator = /
  mailbox Diproses {
    auto = create
  }
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $PORT
    ssl = yes
  }
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}
CONFEOF

dovecot -c "$CONF"
for _ in $(seq 1 50); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "dovecot berjalan di 127.0.0.1:$PORT (pengguna $USER_NAME, CA $BASE/cert.pem)"
    exit 0
  fi
  sleep 0.1
done
echo "dovecot tidak dapat dijalankan; lihat $BASE/dovecot.log" >&2
exit 1
