"""RSE records service: health records and the access decision."""
