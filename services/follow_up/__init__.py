"""Follow up (候选人跟进): the feedback clock and board, contacts, intent, candidate mail, the experience survey and the
talent pool."""
