/**
 * seed.rb: a Rails runner script that prepares a STAGING Mastodon for the
 * scenarios, run on the staging host (`RAILS_ENV=production bin/rails
 * runner seed.rb`). It creates the local accounts (Account + a confirmed,
 * approved User that counts as signed in, so fan-out treats it as active),
 * one OAuth application, an access token per account (scopes
 * "read write follow push"), and the follow graph given as data; then it
 * writes the tokens file (the format `fedicap testbed --tokens-out` writes)
 * on that host, mode 0600. Tokens are made there and never pass through
 * fedicap or this repository.
 *
 * Idempotent: existing accounts, users, the application and live tokens are
 * reused, existing follows kept. It refuses to run unless
 * FEDICAP_CONFIRM_DOMAIN names the instance's LOCAL_DOMAIN.
 */

export interface SeedScriptInput {
  accounts: number;
  /** Usernames are PREFIX1 … PREFIXN. */
  prefix: string;
  /** followers[i]: 0-based indexes of the accounts following account i. */
  followers: readonly (readonly number[])[];
  /** For the header comment. */
  profileName: string;
  generatedAt: string;
  seed: number;
}

export const TOKEN_SCOPES = 'read write follow push';
export const APPLICATION_NAME = 'fedicap load test';

const rubyString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export function seedScript(input: SeedScriptInput): string {
  const edges = input.followers.reduce((n, f) => n + f.length, 0);
  // One target per line keeps the file diffable and any line short.
  const graph = input.followers.map((f) => `[${f.join(',')}]`).join(',\n');
  return `# frozen_string_literal: true
#
# fedicap seed: ${input.accounts} local accounts with access tokens and ${edges} follows, for a
# STAGING Mastodon instance. Generated ${input.generatedAt} from profile "${input.profileName.replace(/[\r\n]/g, ' ')}"
# (follow graph: seed ${input.seed}). Run it on the staging host, in Mastodon's directory:
#
#   FEDICAP_CONFIRM_DOMAIN=staging.example.org FEDICAP_TOKENS_OUT=/home/mastodon/fedicap-tokens.json \\
#     RAILS_ENV=production bin/rails runner /path/to/seed.rb
#
# It writes the tokens file (JSON: [{username, accountId, token}], mode 0600) on that host.
# Copy it to the load generator over ssh; never commit it. Never run this against production:
# it creates accounts with working tokens.

require 'json'
require 'securerandom'

ACCOUNTS = ${input.accounts}
PREFIX = ${rubyString(input.prefix)}
SCOPES = ${rubyString(TOKEN_SCOPES)}
APPLICATION = ${rubyString(APPLICATION_NAME)}

# FOLLOWERS[i]: indexes (0-based) of the accounts that follow account i (#{PREFIX}#{i + 1}).
FOLLOWERS = JSON.parse(<<~'GRAPH')
[
${graph}
]
GRAPH

domain = Rails.configuration.x.local_domain
unless ENV['FEDICAP_CONFIRM_DOMAIN'] == domain
  abort "fedicap: set FEDICAP_CONFIRM_DOMAIN=#{domain} to confirm that this instance is a staging instance " \\
        '(this script creates accounts with working tokens; never run it on production)'
end
abort "fedicap: the graph has #{FOLLOWERS.size} entries, expected #{ACCOUNTS}" unless FOLLOWERS.size == ACCOUNTS

out = File.expand_path(ENV.fetch('FEDICAP_TOKENS_OUT', 'fedicap-tokens.json'))
now = Time.now.utc

app = Doorkeeper::Application.find_or_create_by!(name: APPLICATION) do |a|
  a.redirect_uri = 'urn:ietf:wg:oauth:2.0:oob'
  a.scopes = SCOPES
end

accounts = []
tokens = []
ACCOUNTS.times do |i|
  username = "#{PREFIX}#{i + 1}"
  account = Account.find_local(username)
  if account.nil?
    # As Mastodon's own db/seeds: skip validations (no MX lookup for the e-mail domain).
    account = Account.new(username: username)
    account.save!(validate: false)
  end
  user = User.find_by(account_id: account.id)
  if user.nil?
    user = User.new(email: "#{username}@#{domain}", password: SecureRandom.hex(24), agreement: true,
                    approved: true, confirmed_at: now, account: account)
    user.save!(validate: false)
  end
  user.update_columns(approved: true, confirmed_at: user.confirmed_at || now, current_sign_in_at: now)
  token = Doorkeeper::AccessToken.where(application_id: app.id, resource_owner_id: user.id, revoked_at: nil, scopes: SCOPES).first ||
          Doorkeeper::AccessToken.create!(application_id: app.id, resource_owner_id: user.id, scopes: SCOPES, expires_in: nil)
  accounts << account
  tokens << { username: username, accountId: account.id.to_s, token: token.token }
  puts "fedicap: #{i + 1}/#{ACCOUNTS} accounts" if ((i + 1) % 500).zero?
end

follows = 0
FOLLOWERS.each_with_index do |followers, target|
  followers.each do |follower|
    accounts[follower].follow!(accounts[target], bypass_limit: true)
    follows += 1
  rescue ActiveRecord::RecordInvalid, ActiveRecord::RecordNotUnique => e
    warn "fedicap: #{accounts[follower].username} → #{accounts[target].username}: #{e.message}"
  end
  puts "fedicap: follows of #{target + 1}/#{ACCOUNTS} accounts" if ((target + 1) % 500).zero?
end

tmp = "#{out}.#{Process.pid}.tmp"
File.open(tmp, File::WRONLY | File::CREAT | File::TRUNC, 0o600) { |f| f.write(JSON.pretty_generate(tokens)) }
File.chmod(0o600, tmp)
File.rename(tmp, out)
puts "fedicap: #{ACCOUNTS} accounts, #{follows} follows; tokens in #{out} (mode 0600). " \\
     'Copy it to the load generator; never commit it.'
`;
}
