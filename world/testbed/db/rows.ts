/**
 * Rows of the testbed's tables as `pg` returns them (bigint ids as strings,
 * timestamps as Date). Queries selecting a subset of columns use Pick<>.
 */

export interface AccountRow {
  id: string;
  username: string;
  domain: string | null;
  display_name: string;
  note: string;
  uri: string;
  url: string | null;
  inbox_url: string | null;
  shared_inbox_url: string | null;
  outbox_url: string | null;
  followers_url: string | null;
  key_id: string | null;
  public_key: string;
  private_key: string | null;
  actor_type: string;
  followers_count: number;
  following_count: number;
  statuses_count: number;
  last_webfingered_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface StatusRow {
  id: string;
  uri: string;
  url: string | null;
  text: string;
  spoiler_text: string;
  sensitive: boolean;
  language: string | null;
  visibility: number;
  account_id: string;
  in_reply_to_id: string | null;
  in_reply_to_account_id: string | null;
  reblog_of_id: string | null;
  local: boolean;
  replies_count: number;
  reblogs_count: number;
  favourites_count: number;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

export interface MediaAttachmentRow {
  id: string;
  status_id: string | null;
  account_id: string;
  type: number;
  file_path: string | null;
  /** bigint: a string. */
  file_size: string;
  thumbnail_path: string | null;
  thumbnail_size: string;
  remote_url: string;
  processing: number;
  description: string | null;
  meta: { original?: { width?: number; height?: number } } & Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

export interface NotificationRow {
  id: string;
  account_id: string;
  from_account_id: string;
  type: string;
  status_id: string | null;
  created_at: Date;
}
