"""Work owed after a commit, kept in the database so that a broker outage at commit time loses none of it."""

from django.db import models


class RematchRequest(models.Model):
    """A re-match owed to a patient whose profile, facts or matching consent changed.

    Written in the transaction that made the change, so it exists exactly when the change does; the task is
    queued after commit and, when the broker could not take it, the periodic `rematch_requested` task queues
    it again. A re-match of the patient deletes the row under the profile lock before it reads the facts, so
    a change committed later leaves a row of its own. One row per patient: repeated changes refresh it.

    `profile_id` is a plain number, not a foreign key: the row may outlive a deleted profile (the deletion of
    its facts writes one), and is then dropped by the next drain.
    """

    profile_id = models.BigIntegerField(unique=True)
    requested_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"re-match of profile {self.profile_id} requested at {self.requested_at:%Y-%m-%d %H:%M:%S}"
