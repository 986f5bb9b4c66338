# A Ruby Faye Bayeux server for the Go SDK's interop tests.
#
#   ruby server_faye.rb thin|puma PORT     (PORT 0 = pick a free port)
#
# Binds 127.0.0.1, mounts Faye::RackAdapter at /bayeux under the thin or
# the puma web server (the Debian packages ruby-faye, thin and puma) and
# prints "listening on PORT" once it accepts connections.
#
# Environment:
#   FAYE_TIMEOUT   long-poll timeout in seconds (default 2); Faye forgets a
#                  client that sends no /meta/connect for 2 x FAYE_TIMEOUT.
#   WIRE_LOG=1     log every message in and out to stderr.
require 'socket'
require 'faye'

server_kind = ARGV[0] || 'thin'
port = Integer(ARGV[1] || '0')
if port == 0
  probe = TCPServer.new('127.0.0.1', 0)
  port = probe.addr[1]
  probe.close
end
timeout = Float(ENV.fetch('FAYE_TIMEOUT', '2'))
$stdout.sync = true
$stderr.sync = true

bayeux = Faye::RackAdapter.new(mount: '/bayeux', timeout: timeout)
if ENV['WIRE_LOG'] == '1'
  bayeux.add_extension(Class.new {
    def incoming(message, callback)
      $stderr.puts("in  #{message.to_json}")
      callback.call(message)
    end
    def outgoing(message, callback)
      $stderr.puts("out #{message.to_json}")
      callback.call(message)
    end
  }.new)
end

case server_kind
when 'thin'
  require 'thin'
  Faye::WebSocket.load_adapter('thin')
  Thin::Logging.silent = true
  EM.run do
    server = Thin::Server.new('127.0.0.1', port, bayeux, signals: false)
    server.start
    EM.next_tick { puts "listening on #{port}" }
    trap('TERM') { EM.stop }
    trap('INT') { EM.stop }
  end
when 'puma'
  require 'puma'
  require 'puma/server'
  require "puma/events"
  server = Puma::Server.new(bayeux, Puma::Events.strings, min_threads: 0, max_threads: 64)
  server.add_tcp_listener('127.0.0.1', port)
  thread = server.run
  puts "listening on #{port}"
  trap('TERM') { server.stop }
  trap('INT') { server.stop }
  thread.join
else
  abort "usage: ruby server_faye.rb thin|puma PORT"
end
