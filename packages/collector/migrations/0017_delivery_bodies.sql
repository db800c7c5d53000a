-- The DELIVERIES message of each batch in flight, apart from the batch's row. A batch's row is
-- kept for days after it is done (delivery_batches); its message only until then. When the
-- message lived in the row, clearing it left the row's page mostly empty, and new rows (their
-- ids grow) never filled that space again: the log took about ten times its rows' size. Here a
-- done batch's message row is deleted, and pages left empty go back to the file's free list for
-- the next messages. Every query is in src/db/delivery-batches.ts.
CREATE TABLE delivery_bodies (
  batch_id INTEGER PRIMARY KEY, -- delivery_batches.id
  body TEXT NOT NULL            -- JSON: the DELIVERIES message
);

INSERT INTO delivery_bodies (batch_id, body)
SELECT id, body FROM delivery_batches WHERE body IS NOT NULL AND status <> 'done';

ALTER TABLE delivery_batches DROP COLUMN body;

-- A batch's message goes when the batch is done, or deleted.
CREATE TRIGGER delivery_bodies_done AFTER UPDATE OF status ON delivery_batches
WHEN NEW.status = 'done'
BEGIN
  DELETE FROM delivery_bodies WHERE batch_id = NEW.id;
END;

CREATE TRIGGER delivery_bodies_gone AFTER DELETE ON delivery_batches
BEGIN
  DELETE FROM delivery_bodies WHERE batch_id = OLD.id;
END;
