#!/usr/bin/env bash
# The README's first session as one script: an organizer creates, fills and publishes an event;
# an attendee books two tickets (a hold until paid), starts paying, the organizer records the
# payment, the attendee cancels (refunded). Against `make run` on PORT (default 8000):
#   bash docs/quickstart.sh
# tests/common/test_server.py runs it against a live server, so it stays true.
set -euo pipefail
PORT=${PORT:-8000}
API=http://127.0.0.1:$PORT/api/v1
N=$RANDOM$RANDOM  # fresh e-mail addresses on every run
j() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }  # one field of a JSON answer
JSON='Content-Type: application/json'

# 1. An organizer signs up; the answer carries an access token.
ORG=$(curl -sf -X POST "$API/auth/register/" -H "$JSON" \
  -d '{"email": "ada'"$N"'@example.com", "password": "a-long-passphrase-1", "role": "organizer", "organization_name": "Ada Live"}' \
  | j '["access"]')

# 2. ...creates an event: title, venue, city, start_time and end_time (with a UTC offset) are required.
EVENT=$(curl -sf -X POST "$API/events/" -H "$JSON" -H "Authorization: Bearer $ORG" \
  -d '{"title": "Fado night", "venue": "Clube de Fado", "city": "Lisbon", "start_time": "2030-06-01T21:00:00+01:00", "end_time": "2030-06-01T23:30:00+01:00"}' \
  | j '["id"]')

# 3. ...adds a ticket type (name, price, quantity) and publishes the event.
TYPE=$(curl -sf -X POST "$API/events/$EVENT/ticket-types/" -H "$JSON" -H "Authorization: Bearer $ORG" \
  -d '{"name": "Regular", "price": "25.00", "quantity": 100}' | j '["id"]')
curl -sf -X PATCH "$API/events/$EVENT/" -H "$JSON" -H "Authorization: Bearer $ORG" \
  -d '{"status": "published"}' | j '["status"]'

# 4. An attendee signs up and books two tickets (the key makes a retried request book once).
FAN=$(curl -sf -X POST "$API/auth/register/" -H "$JSON" \
  -d '{"email": "fan'"$N"'@example.com", "password": "another-passphrase-2"}' | j '["access"]')
BOOKING=$(curl -sf -X POST "$API/bookings/" -H "$JSON" -H "Authorization: Bearer $FAN" \
  -H "Idempotency-Key: fado-$N" \
  -d '{"event": "'"$EVENT"'", "items": [{"ticket_type": "'"$TYPE"'", "quantity": 2}]}' | j '["id"]')

# 5. The booking is a hold (pending) until paid. Paying gives a page to pay at: open it in a
#    browser and press Pay (the fake provider of `make run`); or the organizer records a bank
#    transfer (mark-paid), as here.
curl -sf "$API/bookings/$BOOKING/" -H "Authorization: Bearer $FAN" | j '["status"]'
curl -sf -X POST "$API/bookings/$BOOKING/pay/" -H "$JSON" -H "Authorization: Bearer $FAN" -d '{}' \
  | j '["redirect_url"]'
curl -sf -X POST "$API/bookings/$BOOKING/mark-paid/" -H "Authorization: Bearer $ORG" | j '["status"]'

# 6. ...the attendee sees what is left and cancels: the seats return at once, and the payment is
#    refunded by the outbox a moment later (`amount_refunded` on the booking).
curl -sf "$API/events/$EVENT/availability/" | j '["tickets_available"]'
curl -sf -X POST "$API/bookings/$BOOKING/cancel/" -H "Authorization: Bearer $FAN" | j '["status"]'
curl -sf "$API/events/$EVENT/availability/" | j '["tickets_available"]'
