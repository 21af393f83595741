"""The recruitment REST API under /api/v1/: the patient's own data (me/), site staff's candidates and
workflow actions (site/), and sponsors' suppressed aggregates (sponsor/)."""
