"""Records' aggregates: health records, consent registers, record accesses; the access rules."""
