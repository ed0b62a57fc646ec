#!/bin/sh
# Re-record server/tests/data/ldap_captures/ from OpenLDAP's client tools
# against the test AD. Needs `scripts/test-ad up` first; the captures keep
# the test AD's demo passwords, which are no real person's.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
out="$repo/server/tests/data/ldap_captures"
facts="$repo/.demo/ad/ad.json"
python=${PYTHON:-python3}

fact() { "$python" -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {'d': d}))" "$facts" "$1"; }

alice_dn=$(fact "d['users']['alice']['dn']")
alice_password=$(fact "d['users']['alice']['password']")
staff=$(fact "d['ous']['staff']")
ca=$(fact "d['ca_file']")
capture="$python $here/capture_ldap.py"

# Simple bind, paged search (2 entries a page) with several pages, unbind.
$capture bind_search_paged "$out" -- ldapsearch -x -H '{url}' -D "$alice_dn" -w "$alice_password" \
    -b "$staff" -E pr=2/noprompt '(objectClass=user)' cn sAMAccountName

# Wrong password: AD returns invalidCredentials with "data 52e".
$capture bind_wrong_password "$out" -- ldapsearch -x -H '{url}' -D "$alice_dn" -w "Wrong-Password-1" \
    -b "$staff" -s base

# StartTLS request and its response, cut before the TLS handshake.
LDAPTLS_CACERT="$ca" LDAPTLS_REQCERT=never \
    $capture starttls "$out" --first-exchange -- ldapsearch -x -ZZ -H '{url}' -D "$alice_dn" \
    -w "$alice_password" -b "$staff" -s base

# PasswordModify (RFC 3062), which Samba does not implement; the old password is wrong on purpose.
$capture password_modify "$out" -- ldappasswd -x -H '{url}' -D "$alice_dn" -w "$alice_password" \
    -a "Not-The-Old-Password" -s "Not-Set-Anywhere-1"

# A password change (unicodePwd delete + add) and a description replace on a
# DN that does not exist, so AD returns noSuchObject and changes nothing.
old_pwd=$(printf '"Old-Pw-1"' | iconv -f UTF-8 -t UTF-16LE | base64 -w0)
new_pwd=$(printf '"New-Pw-1"' | iconv -f UTF-8 -t UTF-16LE | base64 -w0)
printf 'dn: CN=Nobody Here,%s\nchangetype: modify\ndelete: unicodePwd\nunicodePwd:: %s\n-\nadd: unicodePwd\nunicodePwd:: %s\n-\nreplace: description\ndescription: captured by record_captures.sh\n-\n' \
    "$staff" "$old_pwd" "$new_pwd" >"${TMPDIR:-/tmp}/fg-capture-modify.ldif"
$capture modify_password "$out" -- ldapmodify -x -H '{url}' -D "$alice_dn" -w "$alice_password" \
    -f "${TMPDIR:-/tmp}/fg-capture-modify.ldif"
rm -f "${TMPDIR:-/tmp}/fg-capture-modify.ldif"
