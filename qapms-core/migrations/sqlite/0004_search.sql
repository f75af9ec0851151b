-- Search documents carry what the index filters and links on, not only title and body: the
-- kind of thing within its source (a Postman request, a Splunk saved search...), the project,
-- a status, tags, the ticket keys it mentions (for "related items"), and a few named text
-- fields (method, collection, folder...) that the index searches as well.
ALTER TABLE search_documents ADD COLUMN doc_type TEXT NOT NULL DEFAULT '';
ALTER TABLE search_documents ADD COLUMN project TEXT;
ALTER TABLE search_documents ADD COLUMN status TEXT;
ALTER TABLE search_documents ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE search_documents ADD COLUMN ticket_keys TEXT NOT NULL DEFAULT '[]';
ALTER TABLE search_documents ADD COLUMN fields TEXT NOT NULL DEFAULT '{}';
