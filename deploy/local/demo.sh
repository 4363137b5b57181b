#!/usr/bin/env bash
# Walks the platform's main flows with curl against `make up`: consent, a write in the
# citizen's history, break-the-glass reviewed by an auditor, renewal, exemption, a parent
# acting for the child (guardianship, token exchange, what it opens, the child's history),
# and what notifications sent (it ends printing Mailpit's UI URL).
set -euo pipefail
H=http://127.0.0.1
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
post() { curl -sf -X POST "$1" -H 'content-type: application/json' "${@:3}" -d "$2"; }
say() { printf '\n== %s\n' "$*"; }
# Run a command until it succeeds (the services react through Kafka), then print its output.
until_ok() {
  local out
  for _ in $(seq 1 100); do
    if out=$("$@" 2>/dev/null); then printf '%s' "$out"; return 0; fi
    sleep 0.2
  done
  "$@"
}

OP_PW=${RSE_OPERATOR_PASSWORD:-demo operator password}
OP=demo-op-$RANDOM
RSE_OPERATOR_PASSWORD="$OP_PW" .venv/bin/rse-identity create-operator "$OP" >/dev/null
login() { post $H:8001/auth/token "{\"username\":\"$1\",\"password\":\"$2\"}" | json '["access_token"]'; }
# A token names the one service it is for: WHO_<service> holds WHO's token for each.
exchange() { post $H:8001/auth/exchange "{\"audience\":\"rse-$2\"}" -H "Authorization: Bearer $1" | json '["access_token"]'; }
tokens() { for s in consent records requests benefits notifications; do printf -v "${1}_$s" '%s' "$(exchange "${!1}" $s)"; done; }
# Staff must use TOTP: the password alone gets a token good only to enrol a second factor,
# confirmed here with the previous step's code; the login then takes the current one.
totp() { .venv/bin/python -c "import pyotp,sys,time; print(pyotp.parse_uri(sys.argv[1]).at(time.time()+30*int(sys.argv[2])))" "$1" "$2"; }
staff_login() {
  local limited uri
  limited=$(login "$1" "$2")
  uri=$(post $H:8001/auth/totp '' -H "Authorization: Bearer $limited" | json '["otpauth_uri"]')
  post $H:8001/auth/totp/confirm "{\"code\":\"$(totp "$uri" -1)\"}" -H "Authorization: Bearer $limited" >/dev/null
  post $H:8001/auth/token "{\"username\":\"$1\",\"password\":\"$2\",\"totp_code\":\"$(totp "$uri" 0)\"}" | json '["access_token"]'
}
OPERATOR=$(staff_login "$OP" "$OP_PW")

N=$(( (RANDOM * 32768 + RANDOM) % 90000000 + 10000000 ))
NIF=$(python3 -c "n='2%07d'%($N%10**7); s=sum(int(d)*w for d,w in zip(n,range(9,1,-1))); c=11-s%11; print(n+str(0 if c>=10 else c))")
say "a citizen registers (SNS 1$N), is activated at the counter with a one-time code, and logs in"
CID=$(post $H:8001/citizens "{\"full_name\":\"Rita Demo\",\"date_of_birth\":\"2011-04-20\",\"nif\":\"$NIF\",\"sns_number\":\"1$N\",\"email\":\"rita@example.pt\",\"phone\":\"+351912000000\",\"address\":\"Rua C, Braga\",\"password\":\"a long enough secret\"}" | json '["citizen_id"]')
# The operator checked the citizen's card; the code is shown once.
CODE=$(post $H:8001/citizens/$CID/activation-codes '' -H "Authorization: Bearer $OPERATOR" | json '["code"]')
post $H:8001/citizens/activate "{\"sns_number\":\"1$N\",\"code\":\"$CODE\"}"
CIT=$(login "1$N" "a long enough secret"); tokens CIT
echo "citizen $CID"

DOC=dr-$RANDOM
post $H:8001/staff "{\"username\":\"$DOC\",\"password\":\"doctor password 1\",\"role\":\"professional\",\"practitioner_id\":\"P-$DOC\",\"health_unit\":\"USF Tejo\"}" -H "Authorization: Bearer $OPERATOR" >/dev/null
DR=$(staff_login "$DOC" "doctor password 1"); tokens DR
curl -sf -X PUT $H:8001/citizens/$CID/family-doctor -H "Authorization: Bearer $OPERATOR" -H 'content-type: application/json' -d "{\"practitioner_id\":\"P-$DOC\",\"health_unit\":\"USF Tejo\"}"
echo "family doctor P-$DOC (USF Tejo)"

say "the family doctor records a chronic medication (a care relationship; records learnt it from identity)"
MED=$(until_ok post $H:8003/records/$CID/health-summary/medications '{"name":"Salbutamol","dosage":"100 mcg SOS"}' -H "Authorization: Bearer $DR_records" | json '["medication_id"]')
echo "medication $MED"

say "without consent the doctor's read is refused"
curl -s -o /dev/null -w '%{http_code}\n' $H:8003/records/$CID/health-summary -H "Authorization: Bearer $DR_records"
say "the citizen grants consent for the health summary; the read is allowed"
CONSENT=$(post $H:8002/citizens/$CID/consents '{"grantee":{"kind":"professional","id":"P-'"$DOC"'"},"categories":["health_summary"]}' -H "Authorization: Bearer $CIT_consent" | json '["consent_id"]')
until_ok curl -sf $H:8003/records/$CID/health-summary -H "Authorization: Bearer $DR_records"; echo
say "the citizen revokes it; an emergency read is still possible, flagged and alerted"
post $H:8002/citizens/$CID/consents/$CONSENT/revocation '' -H "Authorization: Bearer $CIT_consent" >/dev/null
until_ok bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' $H:8003/records/$CID/health-summary -H 'Authorization: Bearer $DR_records') = 403 ]"
# The reason goes in the body (a query string ends up in proxies' logs), and is reviewed.
curl -s -o /dev/null -w 'emergency read: %{http_code}\n' -X POST $H:8003/records/$CID/health-summary/emergency \
  -H "Authorization: Bearer $DR_records" -H 'content-type: application/json' \
  -d '{"reason":"unconscious in A&E, suspected asthma attack"}'
sleep 2
history() {
  curl -s $H:8002/citizens/$CID/access-history -H "Authorization: Bearer $CIT_consent" | python3 -c "
import json,sys; d=json.load(sys.stdin); items=d.get('items', d) if isinstance(d, dict) else d
for a in items:
    review = a.get('review') or {}
    print(a['accessed_at'][:19], a['action'], a['actor_id'], a['categories'], a['decision'],
          'relationship=%s' % a.get('relationship'), 'entries=%s' % [e['kind'] + ':' + e['id'] for e in a.get('entries', [])],
          ('review=%s (%s)' % (review['outcome'], review['note'])) if review else '')"
}
say "the citizen's access history: the doctor's write (under family_doctor), the reads, the emergency"
history

say "an auditor reviews the emergency access from the queue; the citizen sees the outcome"
AUD=aud-$RANDOM
post $H:8001/staff "{\"username\":\"$AUD\",\"password\":\"auditor password 1\",\"role\":\"auditor\"}" -H "Authorization: Bearer $OPERATOR" >/dev/null
AU=$(staff_login "$AUD" "auditor password 1"); tokens AU
EMERGENCY=$(until_ok bash -c "curl -sf '$H:8003/emergency-accesses?status=unreviewed' -H 'Authorization: Bearer $AU_records' | python3 -c \"
import json,sys; found=[e['access_id'] for e in json.load(sys.stdin) if e['citizen_id']=='$CID']; print(found[0]) if found else sys.exit(1)\"")
echo "emergency access $EMERGENCY awaits review"
post $H:8003/emergency-accesses/$EMERGENCY/review '{"outcome":"justified","note":"admitted unconscious, the A&E log confirms it"}' -H "Authorization: Bearer $AU_records"
until_ok bash -c "curl -sf $H:8002/citizens/$CID/access-history -H 'Authorization: Bearer $CIT_consent' | grep -q justified"
history

say "renewal: the citizen asks, the family doctor approves, records issues the e-prescription"
RID=$(until_ok post $H:8004/citizens/$CID/renewals "{\"medication_ids\":[\"$MED\"]}" -H "Authorization: Bearer $CIT_requests" | json '["request_id"]')
post $H:8004/practitioners/P-$DOC/renewals/$RID/decision "{\"decision\":\"approved\",\"valid_until\":\"$(date -d '+90 days' +%F)\",\"items\":[{\"medication_id\":\"$MED\",\"packs\":2}]}" -H "Authorization: Bearer $DR_requests" | json '["status"]'
until_ok bash -c "curl -sf $H:8004/citizens/$CID/renewals/$RID -H 'Authorization: Bearer $CIT_requests' | grep -q prescribed"
curl -s $H:8004/citizens/$CID/renewals/$RID -H "Authorization: Bearer $CIT_requests" | python3 -c "
import json,sys; r=json.load(sys.stdin); print('renewal', r['status'], r['prescription_number'])"
curl -s $H:8003/records/$CID -H "Authorization: Bearer $CIT_records" | python3 -c "
import json,sys; p=json.load(sys.stdin)['prescriptions'][0]
print('prescription', p['prescription_number'], 'access code', p['codes']['access_code'], 'right-of-choice code', p['codes']['choice_code'])"

say "exemption from user fees: the citizen is a minor, decided by rule at once"
post $H:8005/citizens/$CID/exemptions '{"category":"minor"}' -H "Authorization: Bearer $CIT_benefits"; echo
until_ok bash -c "curl -sf $H:8005/citizens/$CID/benefits -H 'Authorization: Bearer $CIT_benefits' | grep -q '\"exempt_from_user_fees\":true'"
curl -s $H:8005/citizens/$CID/benefits -H "Authorization: Bearer $CIT_benefits"; echo

say "a parent acts for the child: an operator, the birth certificate checked, makes him her legal guardian"
PN=$(( N + 1 ))
PNIF=$(python3 -c "n='2%07d'%($PN%10**7); s=sum(int(d)*w for d,w in zip(n,range(9,1,-1))); c=11-s%11; print(n+str(0 if c>=10 else c))")
PARENT_ID=$(post $H:8001/citizens "{\"full_name\":\"Paulo Demo\",\"date_of_birth\":\"1979-09-03\",\"nif\":\"$PNIF\",\"sns_number\":\"1$PN\",\"email\":\"paulo@example.pt\",\"phone\":\"+351912000001\",\"address\":\"Rua C, Braga\",\"password\":\"a parent's long secret\"}" | json '["citizen_id"]')
PARENT=$(login "1$PN" "a parent's long secret")
REL=$(post $H:8001/guardianships "{\"minor_id\":\"$CID\",\"guardian_id\":\"$PARENT_ID\",\"documents\":\"birth certificate 4711/2011\"}" -H "Authorization: Bearer $OPERATOR" | json '["relationship_id"]')
echo "guardianship $REL: parent $PARENT_ID for $CID, until her 18th birthday"
say "he logs in as himself and exchanges his token for one acting for her (RFC 8693)"
EXCHANGED=$(post $H:8001/auth/token/exchange "{\"grant_type\":\"urn:ietf:params:oauth:grant-type:token-exchange\",\"subject\":\"$CID\"}" -H "Authorization: Bearer $PARENT")
AS_PARENT=$(json '["access_token"]' <<<"$EXCHANGED")
python3 -c "
import base64,json,sys; t=sys.argv[1].split('.')[1]; c=json.loads(base64.urlsafe_b64decode(t + '=' * (-len(t) % 4)))
print('sub', c['sub'], 'act', c['act'], 'scope', c['scope'], 'rel', c['rel'])" "$AS_PARENT"
say "he books her an appointment with her family doctor and asks for her medication's renewal"
post $H:8004/practitioners/P-$DOC/slots "{\"starts_at\":\"$(date -u -d '+3 days' +%FT%H:00:00+00:00)\"}" -H "Authorization: Bearer $DR" >/dev/null
SLOT=$(until_ok bash -c "curl -sf $H:8004/citizens/$CID/slots -H 'Authorization: Bearer $AS_PARENT' | python3 -c \"
import json,sys; s=json.load(sys.stdin); print(s[0]['slot_id']) if s else sys.exit(1)\"")
post $H:8004/citizens/$CID/appointments "{\"slot_id\":\"$SLOT\"}" -H "Authorization: Bearer $AS_PARENT" | json '["appointment_id"]'
post $H:8004/citizens/$CID/renewals "{\"medication_ids\":[\"$MED\"]}" -H "Authorization: Bearer $AS_PARENT" | json '["request_id"]'
say "what no guardian's scope opens is refused: her notifications, her contacts"
curl -s -o /dev/null -w 'notifications: %{http_code}\n' $H:8006/citizens/$CID/notifications -H "Authorization: Bearer $AS_PARENT"
curl -s -o /dev/null -w 'contacts: %{http_code}\n' -X PATCH $H:8001/citizens/$CID/contacts -H "Authorization: Bearer $AS_PARENT" -H 'content-type: application/json' -d '{"phone":"+351919999999"}'
say "her access history shows what was done for her, by whom, on whose behalf"
until_ok bash -c "curl -sf $H:8002/citizens/$CID/access-history -H 'Authorization: Bearer $CIT' | grep -q MedicationRenewalRequested" >/dev/null || true
curl -s $H:8002/citizens/$CID/access-history -H "Authorization: Bearer $CIT" | python3 -c "
import json,sys
for a in json.load(sys.stdin):
    if a.get('on_behalf'): print(a['accessed_at'][:19], a['on_behalf']['summary'], [e['kind'] + ':' + e['id'] for e in a['entries']])"

say "what notifications sent the citizen (e-mail in Mailpit; SMS only with RSE_SMS_GATEWAY_URL set)"
# Until every channel has its outcome (the dispatcher sends within a second or two).
until_ok bash -c "out=\$(curl -sf $H:8006/citizens/$CID/notifications -H 'Authorization: Bearer $CIT_notifications') && grep -q '\"sent\"' <<<\"\$out\" && ! grep -q '\"pending\"' <<<\"\$out\"" >/dev/null || true
curl -s $H:8006/citizens/$CID/notifications -H "Authorization: Bearer $CIT_notifications" | python3 -c "
import json,sys
for n in json.load(sys.stdin): print(n['requested_at'], n['kind'], {c: o['status'] + (': ' + o['reason'] if o.get('reason') else '') for c, o in n['channels'].items()})"
echo
echo "The e-mails are in Mailpit: http://127.0.0.1:18025/ (search to:rita@example.pt)"
