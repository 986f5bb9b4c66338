// Package bayeuxredis runs highly available Bayeux consumers on Redis.
package bayeuxredis
