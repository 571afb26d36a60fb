# State only: the models moved to another app, their tables stay (see network/allocation 0001).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("network", "0001_initial"),
        ("omni", "0003_routing"),
        ("orders", "0003_channel_and_profile_in_network"),
    ]

    operations = [
        # The tables stay where they are: only Django's picture of which app owns them changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="channelcity",
                    name="channel",
                ),
                migrations.RemoveField(
                    model_name="channellocation",
                    name="channel",
                ),
                migrations.RemoveField(
                    model_name="channelbuffer",
                    name="channel",
                ),
                migrations.RemoveField(
                    model_name="routingprofile",
                    name="channel",
                ),
                migrations.RemoveField(
                    model_name="channelbuffer",
                    name="location",
                ),
                migrations.RemoveField(
                    model_name="channelcity",
                    name="city",
                ),
                migrations.RemoveField(
                    model_name="channellocation",
                    name="location",
                ),
                migrations.RemoveField(
                    model_name="configchange",
                    name="actor",
                ),
                migrations.RemoveField(
                    model_name="locationservice",
                    name="location",
                ),
                migrations.RemoveField(
                    model_name="routingprofile",
                    name="activated_by",
                ),
                migrations.RemoveField(
                    model_name="routingprofile",
                    name="city",
                ),
                migrations.RemoveField(
                    model_name="routingprofile",
                    name="created_by",
                ),
                migrations.RemoveField(
                    model_name="shelfprotection",
                    name="location",
                ),
                migrations.RemoveField(
                    model_name="shelfprotection",
                    name="product",
                ),
                migrations.DeleteModel(
                    name="Channel",
                ),
                migrations.DeleteModel(
                    name="ChannelBuffer",
                ),
                migrations.DeleteModel(
                    name="ChannelCity",
                ),
                migrations.DeleteModel(
                    name="ChannelLocation",
                ),
                migrations.DeleteModel(
                    name="ConfigChange",
                ),
                migrations.DeleteModel(
                    name="LocationService",
                ),
                migrations.DeleteModel(
                    name="RoutingProfile",
                ),
                migrations.DeleteModel(
                    name="ShelfProtection",
                ),
            ],
        ),
    ]
