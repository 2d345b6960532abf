-- Listing guests (or members) pages through users of one type in address
-- order; without this index a page of guests scans past every member.
CREATE INDEX users_type_email ON users (user_type, email);
