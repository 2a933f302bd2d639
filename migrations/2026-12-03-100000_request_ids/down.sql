DROP TABLE request_ids;
