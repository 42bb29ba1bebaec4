SELECT finished_at, consistent, drift, in_flight FROM cdm.srv_last_verify;
