"""`boxoffice_booking_refused()`: raises SQLSTATE BX409. The booking statement calls it when a
counter moved but the booking was not inserted, so a refused statement undoes itself even when
it runs as its own transaction (autocommit: no BEGIN and COMMIT round trips around it)."""

from django.db import migrations

CREATE = """
CREATE FUNCTION boxoffice_booking_refused() RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION 'booking refused: a bound refused after an earlier counter moved'
        USING ERRCODE = 'BX409';
END
$$;
"""
DROP = "DROP FUNCTION boxoffice_booking_refused();"


class Migration(migrations.Migration):
    dependencies = [("bookings", "0005_waitlistentry")]

    operations = [migrations.RunSQL(CREATE, DROP)]
