"""Signed record books (issue 10): documents, their content while signed, signatures, archive manifests and
hand-overs — five tables in every school schema (``reporting.models`` explains each). Every table but the content
carries the school's audit triggers (``schools.audit.triggers``); none has a window guard (signing and archiving go
on after the whole-year lock)."""

import uuid

import django.db.models.deletion
from django.db import migrations, models

import reporting.models
from schools.audit.triggers import attach_sql, detach_sql

AUDITED = ("reporting_recorddocument", "reporting_documentsignature", "reporting_archivemanifest", "reporting_handover")


class Migration(migrations.Migration):
    initial = True

    dependencies = [("schools", "0019_signing")]

    operations = [
        migrations.CreateModel(
            name='RecordDocument',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('uid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('kind', models.CharField(choices=[('record_book', 'Học bạ'), ('class_book', 'Sổ theo dõi và đánh giá học sinh'), ('handover', 'Hồ sơ bàn giao')], default='record_book', max_length=12)),
                ('term', models.PositiveSmallIntegerField(blank=True, help_text='class book: 1 or 2; empty: the year', null=True)),
                ('version', models.PositiveSmallIntegerField(default=1)),
                ('template_version', models.CharField(help_text="the layout's version, by circular (004 art. 11.2c)", max_length=40)),
                ('state', models.CharField(choices=[('rendered', 'Đã tạo bản PDF'), ('signing', 'Đang ký số'), ('sealed', 'Đã đóng dấu số'), ('archived', 'Đã lưu trữ'), ('superseded', 'Đã bị thay thế')], default='rendered', max_length=10)),
                ('sha256', models.CharField(help_text='hex digest of the current bytes', max_length=64)),
                ('pages', models.PositiveSmallIntegerField(default=0)),
                ('token', models.CharField(default=reporting.models.new_token, editable=False, max_length=64, unique=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.BigIntegerField(blank=True, help_text='the account that asked for the render', null=True)),
                ('sealed_at', models.DateTimeField(blank=True, null=True)),
                ('archive_key', models.CharField(blank=True, max_length=400)),
                ('archive_version_id', models.CharField(blank=True, max_length=200)),
                ('archived_at', models.DateTimeField(blank=True, null=True)),
                ('superseded_at', models.DateTimeField(blank=True, null=True)),
                ('revoked_reason', models.TextField(blank=True)),
                ('revoked_by', models.BigIntegerField(blank=True, null=True)),
                ('record', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='documents', to='schools.recordbook')),
                ('school_class', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='documents', to='schools.schoolclass')),
                ('superseded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='supersedes', to='reporting.recorddocument')),
                ('year', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='schools.schoolyear')),
            ],
        ),
        migrations.CreateModel(
            name='DocumentContent',
            fields=[
                ('document', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='content', serialize=False, to='reporting.recorddocument')),
                ('pdf', models.BinaryField()),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
        ),
        migrations.CreateModel(
            name='DocumentSignature',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seq', models.PositiveSmallIntegerField()),
                ('step', models.CharField(choices=[('subject', 'Giáo viên bộ môn'), ('homeroom', 'Giáo viên chủ nhiệm'), ('principal', 'Hiệu trưởng'), ('seal', 'Dấu của nhà trường')], max_length=10)),
                ('subject_code', models.CharField(blank=True, max_length=40)),
                ('signer_id', models.BigIntegerField(help_text='the account that signed (or applied the seal)')),
                ('signer_initials', models.CharField(max_length=20)),
                ('certificate_subject', models.CharField(max_length=400)),
                ('certificate_serial', models.CharField(max_length=100)),
                ('backend', models.CharField(choices=[('pkcs12', 'Khóa lưu trên máy chủ (PKCS#12)'), ('pkcs11', 'Thiết bị HSM (PKCS#11)'), ('remote', 'Ký số từ xa (CSC)'), ('token', 'USB token của người ký')], max_length=8)),
                ('signed_at', models.DateTimeField()),
                ('sha256_after', models.CharField(max_length=64)),
                ('document', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='signatures', to='reporting.recorddocument')),
                ('subject', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='schools.subject')),
            ],
            options={
                'ordering': ['document', 'seq'],
            },
        ),
        migrations.CreateModel(
            name='Handover',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('documents', models.JSONField(blank=True, default=list, help_text='uids of the signed books in the bundle')),
                ('bundle_key', models.CharField(blank=True, max_length=400)),
                ('version_id', models.CharField(blank=True, max_length=200)),
                ('sha256', models.CharField(blank=True, max_length=64)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.BigIntegerField()),
                ('document', models.ForeignKey(blank=True, help_text='the bundle', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='reporting.recorddocument')),
                ('enrolment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='schools.enrolment')),
            ],
        ),
        migrations.CreateModel(
            name='ArchiveManifest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('revision', models.PositiveSmallIntegerField(default=1)),
                ('province_code', models.CharField(max_length=40)),
                ('unit_code', models.CharField(blank=True, help_text='empty: the school is directly under the province', max_length=40)),
                ('key', models.CharField(max_length=400)),
                ('version_id', models.CharField(max_length=200)),
                ('sha256', models.CharField(help_text='of the manifest object', max_length=64)),
                ('files', models.PositiveIntegerField(default=0)),
                ('signed', models.BooleanField(default=False, help_text="the manifest carries the school seal's signature")),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.BigIntegerField(blank=True, null=True)),
                ('school_class', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='schools.schoolclass')),
                ('year', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='schools.schoolyear')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('school_class', 'revision'), name='manifest_revision_once')],
            },
        ),
        migrations.AddIndex(
            model_name='recorddocument',
            index=models.Index(fields=['school_class', 'state'], name='document_class_state'),
        ),
        migrations.AddConstraint(
            model_name='recorddocument',
            constraint=models.UniqueConstraint(fields=('record', 'version'), name='document_version_once'),
        ),
        migrations.AddConstraint(
            model_name='recorddocument',
            constraint=models.UniqueConstraint(condition=models.Q(models.Q(('state', 'superseded'), _negated=True), ('record__isnull', False)), fields=('record',), name='one_current_document_per_record'),
        ),
        migrations.AddConstraint(
            model_name='recorddocument',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'record_book'), _negated=True), ('record__isnull', False), _connector='OR'), name='record_book_names_its_record'),
        ),
        migrations.AddConstraint(
            model_name='recorddocument',
            constraint=models.CheckConstraint(condition=models.Q(('state', 'superseded'), models.Q(('superseded_at__isnull', True), ('superseded_by__isnull', True)), _connector='OR'), name='superseded_only_when_superseded'),
        ),
        migrations.AddConstraint(
            model_name='recorddocument',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('state', 'archived'), _negated=True), models.Q(models.Q(('archive_key', ''), _negated=True), ('archived_at__isnull', False)), _connector='OR'), name='archived_has_its_key'),
        ),
        migrations.AddConstraint(
            model_name='documentsignature',
            constraint=models.UniqueConstraint(fields=('document', 'seq'), name='signature_seq_once'),
        ),
        migrations.AddConstraint(
            model_name='documentsignature',
            constraint=models.UniqueConstraint(condition=models.Q(('step', 'subject')), fields=('document', 'subject', 'signer_id'), name='subject_signed_once_per_teacher'),
        ),
        migrations.AddConstraint(
            model_name='documentsignature',
            constraint=models.UniqueConstraint(condition=models.Q(('step', 'subject'), _negated=True), fields=('document', 'step'), name='chain_step_signed_once'),
        ),
        migrations.AddConstraint(
            model_name='documentsignature',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('step', 'subject'), ('subject__isnull', False)), models.Q(models.Q(('step', 'subject'), _negated=True), ('subject__isnull', True)), _connector='OR'), name='subject_signature_names_subject'),
        ),
        *(migrations.RunSQL(attach_sql(table), detach_sql(table)) for table in AUDITED),
    ]
