"""Attribution methods: one file per method, registered on import (see README)."""
